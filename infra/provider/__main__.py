"""The plugin entry point Terraform starts: `python -m infra.provider` (see infra/tfrun.py)."""

from tf.runner import run_provider

from infra.provider.provider import OfflineOciProvider

if __name__ == "__main__":
    run_provider(OfflineOciProvider())
