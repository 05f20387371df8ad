"""AWS Bedrock Runtime: Converse and ConverseStream (SigV4, binary event stream)."""
