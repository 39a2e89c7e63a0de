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
