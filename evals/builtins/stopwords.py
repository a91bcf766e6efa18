"""Stop-word profiles of seven languages, for the dependency-light language guess.

Each profile holds frequent function words of the language. Words shared by several
languages (``a``, ``de``, ``en``) count for each of them; the guess needs a clear winner.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


PROFILES: dict[str, frozenset[str]] = {
    "en": _words(
        "the and of to is in that it for you was with on are as have be at this not but "
        "they his from or had by we she her an were which their what there been if would "
        "will can all do about your my me could when our has should than them into"
    ),
    "es": _words(
        "el la de que y en los se del las un por con no una su para es al lo como más pero "
        "sus le ya o este sí porque esta entre cuando muy sin sobre también me hasta hay "
        "donde quien desde todo nos durante todos uno les ni contra otros ese eso ante "
        "ellos e esto mí antes algunos qué unos yo otro otras otra él tanto esa estos mucho "
        "usted gracias hola"
    ),
    "fr": _words(
        "le la les de des et est un une du en que qui dans pour pas au sur ce il elle ne se "
        "plus par je avec tout mais ou son sa ses nous vous ils elles leur aux cette été "
        "sont être avoir comme fait bien où sans peut très mon ma mes votre vos merci bonjour "
        "ai suis"
    ),
    "de": _words(
        "der die das und ist nicht ein eine zu den von mit sich des auf für im dem auch es "
        "an als wie bei oder nach aus wird sind noch ich sie er wir ihr mein meine dass "
        "hat haben werden kann aber nur bitte danke hallo einen einem zum zur über"
    ),
    "it": _words(
        "il lo la i gli le di che e è un una per non in con su sono da del della dei delle "
        "al alla ma come anche più se mi ti ci si io tu lui lei noi voi loro questo questa "
        "ho ha hanno essere molto grazie ciao buongiorno perché quando"
    ),
    "pt": _words(
        "o a os as de do da dos das e que em um uma para com não no na nos nas por se mais "
        "como mas foi ao ele ela eles elas seu sua seus suas ou quando muito já eu também "
        "só pelo pela até isso este esta você vocês obrigado obrigada olá meu minha é"
    ),
    "nl": _words(
        "de het een en van is dat in op te zijn niet met voor aan er maar om ook als bij "
        "nog wel dan naar uit heeft hebben worden wordt kan mijn je jij wij we zij hun dit "
        "deze die ik u uw bedankt hallo graag"
    ),
}
