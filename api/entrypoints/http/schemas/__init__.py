"""The request and response bodies the HTTP API documents (OpenAPI); the service works on its own types."""
