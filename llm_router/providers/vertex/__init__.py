"""Google Vertex AI: Gemini (generateContent) and Anthropic Claude (rawPredict) at a
project/location endpoint, signed in with google-auth credentials."""
