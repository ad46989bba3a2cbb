"""邻里通: the chat side (channels, dialogue, handlers, outbound delivery)."""
