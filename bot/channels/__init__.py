"""Protocol adapters, one per channel: verify, decrypt, parse, dedupe, render."""
