"""HTTP surfaces: the app factory, /chat/, /v1/*, streaming, errors, middleware."""
