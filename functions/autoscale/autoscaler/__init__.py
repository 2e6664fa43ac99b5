"""Autoscaler for OCI Data Science model deployments, driven by OCI Monitoring alarms."""
