from django import template

from swms import pii
from swms.middleware import password_change_due

register = template.Library()


@register.filter
def password_expired(user) -> bool:
    return password_change_due(user)


register.filter("mask_id", pii.mask_id_number)
register.filter("mask_phone", pii.mask_phone)
register.filter("mask_name", pii.mask_name)
