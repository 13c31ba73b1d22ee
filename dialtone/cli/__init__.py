"""The `dialtone` command line, one module per command group (`__main__.py` joins them)."""
