"""One router per resource; api.entrypoints.http.app includes them all."""
