"""CSV files for the import scenarios: valid ISBNs made up row by row."""

from __future__ import annotations


def isbn13(n: int) -> str:
    body = f"978{n:09d}"
    check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body)) % 10) % 10
    return body + str(check)


def library_csv(valid: int, invalid: int = 0, repeated: int = 0, first: int = 0) -> bytes:
    """Our CSV format: `valid` distinct books (ISBNs from `first`), then `invalid` rows
    with no title, then `repeated` rows repeating the first ISBNs of the file."""
    lines = ["title,author,isbn,year,notes"]
    lines += [
        f"Libro {n},Autora {n % 97},{isbn13(first + n)},{1900 + n % 120}," for n in range(valid)
    ]
    lines += [f",Sin título {n},,," for n in range(invalid)]
    lines += [f"Copia {n},Autora,{isbn13(first + n)},," for n in range(repeated)]
    return ("\r\n".join(lines) + "\r\n").encode()
