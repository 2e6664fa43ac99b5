"""The local end-to-end path: the emulator and the real function (fdk on a unix socket)."""
