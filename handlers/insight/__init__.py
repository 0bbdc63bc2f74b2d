"""民情大脑: places, categories and similar cases of incoming messages."""
