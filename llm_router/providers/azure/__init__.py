"""Azure OpenAI: OpenAI's wire at Azure's deployment (dated) or v1 paths."""
