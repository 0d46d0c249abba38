"""Reports a credit committee or an auditor reads: self-contained HTML pages built from a use case's result."""
