"""The funding dashboard sums every claim in the database and lists them a page at a time (bench/README.md)."""
import re
from datetime import date, datetime

from tests import factories
from training_app.clock import frozen_at
from training_app.extensions import db
from training_app.models import FundingClaim
from training_app.services import funding as funding_service


def _claims(n: int, funder, **fields) -> None:
    for i in range(n):
        db.session.add(FundingClaim(number=f"2019-{i + 1:04d}", funder=funder, snapshot={"lines": []},
                                    created_at=datetime(2019, 1, 1, 9, i % 60), **fields))
    db.session.commit()


def test_totals_count_every_claim_and_the_list_is_paginated(app, admin_client, monkeypatch):
    monkeypatch.setitem(app.config, "CLAIMS_PER_PAGE", 3)
    funder = factories.make_funder(name="Uniformation")
    _claims(4, funder, status="sent", total_cents=10000, paid_cents=2500, sent_on=date(2019, 1, 10))
    db.session.add(FundingClaim(number="2019-0100", funder=funder, status="paid", total_cents=5000, paid_cents=5000,
                                sent_on=date(2019, 1, 10), snapshot={}, created_at=datetime(2019, 2, 1)))
    db.session.add(FundingClaim(number="2019-0101", funder=funder, status="draft", total_cents=700, snapshot={},
                                created_at=datetime(2019, 2, 2)))
    db.session.commit()
    with frozen_at(datetime(2019, 4, 1, 10)):
        board = funding_service.dashboard()
        assert (board.count, board.drafts) == (6, 1)
        assert board.expected_cents == 4 * 7500 and board.received_cents == 4 * 2500 + 5000
        assert len(board.overdue) == 4 and board.overdue_cents == 30000
        first = admin_client.get("/financement/").get_data(as_text=True)
        second = admin_client.get("/financement/?page=2").get_data(as_text=True)
    assert first.count('data-testid="claim-row"') == 3 and second.count('data-testid="claim-row"') == 3
    assert "2019-0101" in first and "2019-0100" in first  # newest first
    assert "page=2" in first and "300,00" in first  # expected: 4 x 75,00 €


def test_the_list_shows_a_balance_only_where_money_is_left(admin_client):
    """A draft, a rejected claim: no balance (nothing is expected); a refused balance says so; money received
    beyond what was asked is a trop-perçu, not a negative balance."""
    funder = factories.make_funder(name="Uniformation")
    states = [("2019-0001", "draft", 94500, 0), ("2019-0002", "sent", 94500, 0),
              ("2019-0003", "partially_paid", 94500, 50000), ("2019-0004", "balance_refused", 94500, 50000),
              ("2019-0005", "rejected", 94500, 0), ("2019-0006", "paid", 94500, 100000)]
    for i, (number, status, total, paid) in enumerate(states):
        db.session.add(FundingClaim(number=number, funder=funder, status=status, total_cents=total, paid_cents=paid,
                                    sent_on=None if status == "draft" else date(2019, 1, 10), snapshot={},
                                    created_at=datetime(2019, 2, 1, 9, i)))
    db.session.commit()
    page = admin_client.get("/financement/").get_data(as_text=True).replace("\u202f", " ").replace("&nbsp;", " ")
    balances = dict(zip(re.findall(r'<td><a href="/financement/demandes/\d+">([^<]+)</a></td>', page),
                        re.findall(r'data-testid="claim-row-balance">([^<]*)</td>', page)))
    assert balances == {"2019-0001": "—", "2019-0002": "945,00 €", "2019-0003": "445,00 €",
                        "2019-0004": "445,00 € refusés", "2019-0005": "—", "2019-0006": "trop-perçu 55,00 €"}
    board = funding_service.dashboard()
    assert (board.expected_cents, board.received_cents) == (94500 + 44500, 200000)
    paid = db.session.scalar(db.select(FundingClaim).where(FundingClaim.number == "2019-0006"))
    claim_page = admin_client.get(f"/financement/demandes/{paid.id}").get_data(as_text=True).replace("\u202f", " ")
    assert 'data-testid="claim-balance">1 000,00 € / trop-perçu 55,00 €' in claim_page
