"""Handlers: plain functions that call the domain and return the text to say."""
