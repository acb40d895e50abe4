"""meshc's stand-in for the Cerebras SDK's Python package (not the Cerebras SDK)."""
