"""The sentences residents and staff read in chat, one module per topic.

Words the bot matches on live beside the code that matches them (bot/handlers/,
bot/words.py); page texts beside their blueprint in web/; the names of categories,
states and levels in models/.
"""
