"""French identifiers: SIRET (14 digits, Luhn checksum)."""
import re


def normalise_siret(value: str | None) -> str:
    return re.sub(r"\s", "", value or "")


def is_valid_siret(value: str | None) -> bool:
    """14 digits whose Luhn checksum is right (La Poste's establishments excepted by INSEE rules)."""
    siret = normalise_siret(value)
    if not re.fullmatch(r"[0-9]{14}", siret):  # \d would let other scripts' digits through
        return False
    if siret.startswith("356000000"):  # La Poste: the digits add up to a multiple of 5
        return sum(int(c) for c in siret) % 5 == 0
    total = 0
    for index, char in enumerate(reversed(siret)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0
