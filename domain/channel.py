"""The channels a customer can reach a merchant on."""
from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    WEB_CHAT = "web_chat"
    APP = "app"
    PHONE = "phone"
    SMS = "sms"
    WECHAT = "wechat"
    WEIBO = "weibo"
    DOUYIN = "douyin"
    TAOBAO = "taobao"
    JD = "jd"
    PINDUODUO = "pinduoduo"
    WHATSAPP = "whatsapp"
    INSTAGRAM = "instagram"
    FACEBOOK = "facebook"
    OTHER = "other"


class ChannelKind(StrEnum):
    """How a channel is worked, for capacity: an agent holds a few live chats at once, many
    emails, one call."""

    CHAT = "chat"
    EMAIL = "email"
    VOICE = "voice"


_KIND = {Channel.EMAIL: ChannelKind.EMAIL, Channel.PHONE: ChannelKind.VOICE}


def kind_of(channel: Channel | str) -> ChannelKind:
    """Every messaging channel (marketplaces, social, web chat, app, SMS) is chat."""
    return _KIND.get(Channel(channel), ChannelKind.CHAT)
