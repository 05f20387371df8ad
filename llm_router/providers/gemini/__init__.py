"""Google Gemini API (AI Studio): generateContent and streamGenerateContent."""
