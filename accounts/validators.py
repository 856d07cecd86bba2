"""Password rules beyond Django's: MLPS 复杂度 (3 of 4 character classes) and no personal data."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

CLASSES = (
    re.compile(r"[a-z]"),
    re.compile(r"[A-Z]"),
    re.compile(r"[0-9]"),
    re.compile(r"[^a-zA-Z0-9]"),
)


class CharacterClassesValidator:
    """At least `min_classes` of: lowercase, uppercase, digits, other characters."""

    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def validate(self, password, user=None):
        if sum(1 for c in CLASSES if c.search(password)) < self.min_classes:
            raise ValidationError(self.get_help_text(), code="password_too_simple")

    def get_help_text(self):
        return ngettext(
            "Your password must mix at least %(n)d kind of character: lowercase letters, "
            "uppercase letters, digits, symbols.",
            "Your password must mix at least %(n)d kinds of characters: lowercase letters, "
            "uppercase letters, digits, symbols.",
            self.min_classes,
        ) % {"n": self.min_classes}


class PersonalDataValidator:
    """The password may not contain the username, phone number, full name or any 6+ digits of the
    ID number. Django's UserAttributeSimilarityValidator misses short Chinese names (张伟 is two
    characters; its length ratio rule skips them), so names are checked for containment here."""

    def validate(self, password, user=None):
        if user is None:
            return
        lowered = password.lower()
        for value in (getattr(user, "username", ""), getattr(user, "phone", "")):
            if value and len(value) >= 4 and value.lower() in lowered:
                raise ValidationError(self.get_help_text(), code="password_personal_data")
        name = "".join((getattr(user, "full_name", "") or "").split()).lower()
        if name and (len(name) >= 4 or (len(name) >= 2 and not name.isascii())) and name in lowered:
            raise ValidationError(self.get_help_text(), code="password_personal_data")
        id_number = (getattr(user, "id_number", "") or "").lower()
        if id_number:
            for i in range(len(id_number) - 5):
                if id_number[i : i + 6] in lowered:
                    raise ValidationError(self.get_help_text(), code="password_personal_data")

    def get_help_text(self):
        return _("Your password can't contain your username, phone number or part of your ID number.")


# Well-known weak bases (issue #16): words and names that people decorate with a capital, digits and a symbol
# ("Admin@123", "Swms@2024"). Compared with the letters left once digits and symbols are taken away.
WEAK_BASES = frozenset("""
    admin administrator adm root super superadmin superuser sysadmin system sys manager master operator
    user guest test tester testing demo default changeme welcome hello login logon passwd password pass pwd
    qwerty qwer asdf asdfgh zxcv zxcvbn abc abcd abcde abcdef abcdefg iloveyou love woaini aini
    swms shegong minzheng mzj mzt china beijing shanghai guangzhou shenzhen guangdong zhongguo
    secret letmein monkey dragon sunshine princess football baseball whatever trustno computer internet
    office station server service oracle mysql postgres database backup
    zhangsan lisi wangwu zhaoliu sunqi zhouba wujiu zhengshi
    wang zhang liu chen yang huang zhao zhou xu sun zhu guo lin luo zheng liang xie song tang
    han feng deng cao peng zeng xiao tian dong pan yuan cai jiang yu du ye cheng wei su lu ding ren shen yao
    jiang cui zhong tan lu fan wang jin shi jia xia fu fang zou xiong bai meng qin qiu hou jiang yin xue yan duan
""".split())
# Keyboard rows and columns and the alphabet, each read both ways: any 3+ letters along them are a pattern.
_SEQUENCES = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "qazwsxedcrfvtgbyhnujmikolp", "abcdefghijklmnopqrstuvwxyz")
_SEQUENCES = _SEQUENCES + tuple(s[::-1] for s in _SEQUENCES)
# Leet spellings: P@ssw0rd is password.
_LEET = str.maketrans({"@": "a", "4": "a", "8": "b", "3": "e", "6": "g", "1": "i", "!": "i", "|": "l", "0": "o",
                       "$": "s", "5": "s", "7": "t", "+": "t", "2": "z", "9": "g"})
_NOT_LETTERS = re.compile(r"[^a-z]+")
_EDGE = re.compile(r"^[^A-Za-z]*(.*?)[^A-Za-z]*$", re.S)


def _letters(value: str) -> str:
    return _NOT_LETTERS.sub("", value.lower())


def _common_passwords() -> frozenset:
    global _COMMON
    if _COMMON is None:
        from django.contrib.auth.password_validation import CommonPasswordValidator

        _COMMON = frozenset(CommonPasswordValidator().passwords)
    return _COMMON


_COMMON = None


def _is_sequence(token: str) -> bool:
    return len(token) >= 3 and (len(set(token)) == 1 or any(token in s for s in _SEQUENCES))


class WeakBaseValidator:
    """A password that is only a common word, a name or a keyboard pattern dressed up with a capital, digits
    and symbols (Admin@123, Password1!, Qwer1234!, Swms@2024, Zhangsan@123, the username + "@123").

    The digits and symbols are taken away (and, in a second reading, leet spellings undone: P@ssw0rd); what is
    left must not be a common password (Django's list), a well-known weak base (WEAK_BASES), a keyboard or
    alphabet sequence, the user's username or name, or made only of such pieces (AdminAdmin, QwerAsdf)."""

    MIN_BASE = 3

    def candidates(self, password: str) -> set[str]:
        core = _EDGE.match(password).group(1)  # from the first letter to the last
        found = {_letters(password), _letters(core.lower().translate(_LEET))}
        # A leet character at either end belongs to the word ("@dmin123"): read it with its neighbours.
        stripped = password.rstrip("0123456789!#%^&*()-_=.,?~`'\" ").lstrip("0123456789#%^&*()-_=.,?~`'\" ")
        found.add(_letters(stripped.lower().translate(_LEET)))
        return {c for c in found if len(c) >= self.MIN_BASE}

    def _user_tokens(self, user) -> set[str]:
        tokens = set()
        if user is None:
            return tokens
        for attr in ("username", "full_name", "email"):
            value = (getattr(user, attr, "") or "").lower()
            if attr == "email":
                value = value.split("@")[0]
            for part in re.split(r"[^a-z]+", value):
                if len(part) >= 2:
                    tokens.add(part)
            joined = _letters(value)
            if len(joined) >= 2:
                tokens.add(joined)
        return tokens

    def _made_of_weak_pieces(self, base: str, pieces: set[str]) -> bool:
        """True if `base` splits into weak bases, user tokens and keyboard sequences only."""
        n = len(base)
        ok = [True] + [False] * n
        for end in range(1, n + 1):
            for start in range(end - 1, -1, -1):
                if ok[start]:
                    token = base[start:end]
                    if token in pieces or (len(token) >= 3 and (token in WEAK_BASES or _is_sequence(token))):
                        ok[end] = True
                        break
        return ok[n]

    def validate(self, password, user=None):
        pieces = self._user_tokens(user)
        common = _common_passwords()
        for base in self.candidates(password):
            if (base in common or base in WEAK_BASES or _is_sequence(base) or base in pieces
                    or self._made_of_weak_pieces(base, pieces)):
                raise ValidationError(self.get_help_text(), code="password_weak_base")

    def get_help_text(self):
        return _("Your password can't be a common word, a name or a keyboard pattern with digits and symbols "
                 "added (such as Admin@123 or Qwer1234!).")
