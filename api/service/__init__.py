"""The use cases, one function each; entrypoints (HTTP, CLI) call them, they call the adapters."""
