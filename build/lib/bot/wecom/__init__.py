"""WeCom (企业微信): kf intake, app callbacks and the outbound client."""
