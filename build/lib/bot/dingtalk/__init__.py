"""DingTalk: the Stream connection, OpenAPI sends and live case cards."""
