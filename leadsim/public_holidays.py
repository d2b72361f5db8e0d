"""Public holidays by country and region, resolved with the maintained ``holidays`` package.

A calendar that names a ``country`` (ISO 3166-1 code such as ``DE``, ``US``,
``GB``) and optionally a ``subdivision`` (a state or region code such as
``BY`` for Bavaria, ``MA`` for Massachusetts, ``ENG`` for England) takes its
public holidays from the ``holidays`` package for every year in
:data:`YEARS`; leadsim keeps no holiday list of its own.  The answer for one
(country, subdivision) is computed once per process (:func:`resolve`).

Limits (what the package, and so leadsim, does not know):

- only holidays of the country and of the subdivision as a whole, in the
  package's ``public`` category: holidays kept only in some municipalities
  (Assumption Day in Bavaria's Catholic communities, the Augsburg Peace
  Festival) or by some faiths are not included; list them under the
  calendar's ``holidays`` when the office keeps them;
- bridge days, company closures and half days are the company's: they go
  under ``holidays`` and ``half_days``;
- a new release of the package may add or move a holiday (a new public
  holiday is declared now and then), which is why outputs record
  :func:`version` next to the dates they used;
- years outside :data:`YEARS` have no public holidays: leadsim warns when a
  run or an audit reaches past them.

>>> import datetime as dt
>>> dt.date(2025, 10, 3) in resolve("DE", None)         # German Unity Day
True
>>> dt.date(2025, 1, 6) in resolve("DE", None), dt.date(2025, 1, 6) in resolve("DE", "BY")
(False, True)
>>> check_region("DE", "XY")
Traceback (most recent call last):
...
leadsim.errors.DefinitionError: calendar.subdivision: unknown subdivision 'XY' of DE; use one of ['BB', 'BE', ...]
"""

from __future__ import annotations

import datetime as dt
import functools

import holidays as _holidays_pkg

from leadsim.errors import DefinitionError

__all__ = ["YEARS", "check_region", "resolve", "version"]

#: the years (first, last, both included) for which a country's holidays are resolved
YEARS = (2000, 2075)


def version() -> str:
    """The version of the ``holidays`` package that resolved the dates (outputs record it).

    >>> version() >= "0.109"
    True
    """
    return str(_holidays_pkg.__version__)


def check_region(country: str, subdivision: str | None = None, *, where: str = "calendar") -> tuple[str, str | None]:
    """``(country, subdivision)`` upper-cased if the ``holidays`` package knows them, else a
    :class:`~leadsim.errors.DefinitionError` naming the known codes.

    >>> check_region("de", "by")
    ('DE', 'BY')
    >>> check_region("XX")
    Traceback (most recent call last):
    ...
    leadsim.errors.DefinitionError: calendar.country: unknown country code 'XX'; use an ISO 3166-1 code such as DE, GB or US
    """
    code = str(country).strip().upper()
    known = _holidays_pkg.list_supported_countries()
    if code not in known:
        raise DefinitionError(f"unknown country code {country!r}; use an ISO 3166-1 code such as DE, GB or US",
                              where=f"{where}.country")
    if subdivision is None:
        return code, None
    subs = list(known[code])
    aliases = getattr(_holidays_pkg.country_holidays(code), "subdivisions_aliases", {}) or {}
    wanted = str(subdivision).strip()
    for name in (wanted, wanted.upper()):
        if name in subs:
            return code, name
        if name in aliases:
            return code, aliases[name]
    raise DefinitionError(f"unknown subdivision {subdivision!r} of {code}; use one of {subs}",
                          where=f"{where}.subdivision")


@functools.lru_cache(maxsize=64)
def resolve(country: str, subdivision: str | None) -> frozenset[dt.date]:
    """The public holidays of ``country`` (and ``subdivision``) in :data:`YEARS`, cached per process.

    >>> sorted(d for d in resolve("GB", "ENG") if d.year == 2025)[:3]
    [datetime.date(2025, 1, 1), datetime.date(2025, 4, 18), datetime.date(2025, 4, 21)]
    """
    code, sub = check_region(country, subdivision)
    table = _holidays_pkg.country_holidays(code, subdiv=sub, years=range(YEARS[0], YEARS[1] + 1))
    return frozenset(table.keys())
