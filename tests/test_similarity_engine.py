"""The optional ``embeddings`` similarity engine: English text by sentence embeddings, CJK text by TF-IDF, vectors
cached per ticket in the database (re-embedded when the text changes), a clear error when the extra is missing.

The suite runs without the extra (CI installs ``.[dev]``): the engine is driven by :class:`Concepts`, a small
deterministic encoder with the real one's interface whose vectors know a few synonyms that share no character
n-grams (so only an engine that really uses the vectors groups them). ``test_the_real_model_*`` loads the shipped
model with the network blocked and runs only where the extra is installed."""

from __future__ import annotations

import json
import socket
from collections.abc import Sequence

import numpy as np
import pytest
from review_support import BASE, make_ticket

from butterfly.reports.group_input import GroupInput
from butterfly.reports.problems import problems
from butterfly.review.similar import similar_tickets
from butterfly.similarity import embeddings
from butterfly.similarity.engine import EmbeddingEngine, embed_text, has_cjk
from butterfly.similarity.neighbours import knn_pairs
from butterfly.similarity.vector_cache import DbVectorStore

WEEK = "2026-W40"  # BASE + 2 days, when make_ticket closes a ticket

# words that mean the same thing without sharing a character 3-gram
_CONCEPT = {
    "refund": 0,
    "money": 0,
    "reimbursement": 0,
    "printer": 1,
    "printing": 1,
    "print": 1,
    "login": 2,
    "sign": 2,
    "password": 2,
    "late": 3,
    "never": 3,
    "missing": 3,
}


class Concepts:
    """A deterministic stand-in encoder: one dimension per concept above, the rest hashed words (weight 0.2)."""

    model_id = "test-concepts/v1"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().replace(",", " ").split():
                if word in _CONCEPT:
                    out[i, _CONCEPT[word]] += 1.0
                else:
                    out[i, 8 + sum(word.encode()) % 56] += 0.2
            out[i] /= max(float(np.linalg.norm(out[i])), 1e-9)
        return out


ENGLISH = [
    ("Acme", "Refund is late"),
    ("Beta", "Where is my money, never came"),
    ("Gamma", "Reimbursement missing"),
    ("Acme", "Printer offline"),
    ("Delta", "Printing stopped"),
]
CHINESE = [("华星物流", "退款一直没到账"), ("青禾餐饮", "退款一直沒到帳"), ("Northwind", "短信验证码收不到")]


def _items() -> list[GroupInput]:
    return [GroupInput(subject=s) for _, s in ENGLISH + CHINESE]


def test_embeddings_group_english_paraphrases_and_cjk_keeps_tfidf() -> None:
    items = _items()
    plain = problems(items).problem
    encoder = Concepts()
    with_engine = problems(items, engine=EmbeddingEngine(encoder)).problem
    # three ways of saying "my refund has not come" share no n-grams: TF-IDF keeps them apart, the vectors do not
    assert len({plain[0], plain[1], plain[2]}) == 3
    assert with_engine[0] == with_engine[1] == with_engine[2]
    assert with_engine[3] == with_engine[4] != with_engine[0]
    # Chinese goes through TF-IDF exactly as without the engine, and never reaches the English model
    assert with_engine[5] == with_engine[6] != with_engine[7]
    assert [plain[i] == plain[5] for i in (6, 7)] == [with_engine[i] == with_engine[5] for i in (6, 7)]
    assert encoder.seen and not any(has_cjk(t) for t in encoder.seen)
    assert has_cjk("發票匯出失敗") and not has_cjk("Invoice export fails")
    assert embed_text("Hi @AcmeSupport see https://x.example/a", "  it broke  ") == "Hi see it broke"


def test_vectors_are_cached_per_ticket_and_an_edited_ticket_is_embedded_again(session) -> None:  # type: ignore[no-untyped-def]
    tickets = [make_ticket(session, f"T-{i}", customer=c, subject=s) for i, (c, s) in enumerate(ENGLISH)]
    items = [GroupInput(subject=t.subject, key=t.id) for t in tickets]
    first = EmbeddingEngine(Concepts(), DbVectorStore(session))
    labels = problems(items, engine=first).problem
    assert first.embedded == len(ENGLISH)
    again = EmbeddingEngine(Concepts(), DbVectorStore(session))
    assert problems(items, engine=again).problem == labels
    assert again.embedded == 0  # every vector read back from the database
    tickets[4].subject = "Sign in with password fails"  # edited: its stored vector no longer matches its text
    session.add(tickets[4])
    session.commit()
    items[4] = GroupInput(subject=tickets[4].subject, key=tickets[4].id)
    edited = EmbeddingEngine(Concepts(), DbVectorStore(session))
    regrouped = problems(items, engine=edited).problem
    assert edited.embedded == 1
    assert regrouped[4] != regrouped[3]  # no longer grouped with the printer
    assert EmbeddingEngine(Concepts(), DbVectorStore(session)).vectors([items[4].subject or ""], [items[4].key]).any()
    # another model's vectors are kept apart
    other = Concepts()
    other.model_id = "test-concepts/v2"  # type: ignore[misc]
    assert DbVectorStore(session).load([t.id for t in tickets], "test-concepts/v2") == {}


def test_the_similar_panel_finds_a_paraphrase_only_with_embeddings(session) -> None:  # type: ignore[no-untyped-def]
    t = make_ticket(session, "T-1", customer="Acme", subject="Refund is late", category="billing")
    make_ticket(session, "T-2", customer="Beta", subject="Where did my money go", category="payments")
    make_ticket(session, "T-3", customer="Gamma", subject="Printer offline", category="hardware")
    make_ticket(session, "T-4", customer="Delta", subject="退款一直没到账", category="billing")
    assert [s.ticket.external_id for s in similar_tickets(session=session, ticket=t, engine="tfidf")] == ["T-4"]
    engine = EmbeddingEngine(Concepts(), DbVectorStore(session))
    found = similar_tickets(session=session, ticket=t, engine=engine)
    refs = [s.ticket.external_id for s in found]
    assert refs[0] == "T-2" and "T-3" not in refs  # the paraphrase at another customer, not the printer
    assert found[0].engine == "embeddings" and found[0].same_problem
    assert {s.ticket.external_id: s.engine for s in found}["T-4"] == "tfidf"  # CJK candidate: TF-IDF, same category


def test_nearest_neighbours_keep_blocks_and_strong_cross_links() -> None:
    x = np.array([[1, 0], [0.96, 0.28], [0.8, 0.6], [0, 1]], dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    left, right, _ = knn_pairs(x, np.array([0, 1, 0, 0]), k=1, floor=0.1, strong=0.99)
    pairs = set(zip(left.tolist(), right.tolist(), strict=True))
    assert (0, 1) not in pairs  # 0.96 across blocks is below "strong"
    assert (0, 2) in pairs and (2, 3) in pairs  # each row's best allowed neighbour
    left, _, _ = knn_pairs(x, np.array([0, 1, 0, 0]), k=1, floor=0.1, strong=0.95)
    assert (0 in left.tolist()) and len(left) >= 2


def _week_of_paraphrases(session) -> None:  # type: ignore[no-untyped-def]
    for i, (customer, subject) in enumerate(ENGLISH[:3]):
        make_ticket(session, f"T-{i}", customer=customer, subject=subject, category=None, created_at=BASE)
    make_ticket(session, "T-9", customer="Omega", subject="Printer offline", category=None, created_at=BASE)


def test_weekly_report_groups_by_the_engine_asked_for(cli, db_url, session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _week_of_paraphrases(session)
    monkeypatch.setattr(embeddings, "load_encoder", lambda lang="en": Concepts())
    by_engine = {}
    for engine in ("tfidf", "embeddings"):
        result = cli("report", "weekly", "--week", WEEK, "--db", db_url, "--format", "json", "--similarity", engine)
        assert result.exit_code == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["similarity"] == engine
        by_engine[engine] = sorted(sorted(g["members"]) for g in report["recurring"])
    assert by_engine["tfidf"] == []  # no two of them share n-grams
    assert by_engine["embeddings"] == [["csv:T-0", "csv:T-1", "csv:T-2"]]
    # the setting chooses the engine when the option is not given
    monkeypatch.setenv("BUTTERFLY_SIMILARITY__ENGINE", "embeddings")
    from butterfly.settings import get_settings

    get_settings.cache_clear()
    report = json.loads(cli("report", "weekly", "--week", WEEK, "--db", db_url, "--format", "json").stdout)
    assert report["similarity"] == "embeddings" and len(report["recurring"]) == 1


@pytest.mark.parametrize("lang", ["zh-CN", "zh-TW", "en"])
def test_a_missing_extra_is_one_clear_error(cli, sqlite_url_fixture, monkeypatch, lang) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(embeddings, "model_dir", lambda: None)  # as on a default install
    weekly = cli("report", "weekly", "--db", sqlite_url_fixture, "--similarity", "embeddings", "--lang", lang)
    assert weekly.exit_code != 0 and weekly.stdout == ""
    lines = weekly.stderr.strip().splitlines()
    assert lines[0].startswith("Error:") and "butterfly-check[embeddings]" in lines[0]
    if lang != "en":
        assert "embeddings" in lines[0] and "PyTorch" in lines[0] and not lines[0].startswith("Error: the ")
    with pytest.raises(embeddings.EmbeddingsUnavailable):
        embeddings.load_encoder(lang)


def test_the_default_install_never_loads_the_model(cli, db_url, session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _week_of_paraphrases(session)

    def refuse(lang: str = "en") -> object:
        raise AssertionError("the tfidf engine must not load the model")

    monkeypatch.setattr(embeddings, "load_encoder", refuse)
    result = cli("report", "weekly", "--week", WEEK, "--db", db_url, "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["similarity"] == "tfidf"


@pytest.mark.skipif(
    not embeddings.available(),
    reason="the embeddings extra is not installed (pip install '.[embeddings]' after PyTorch's CPU build)",
)
def test_the_real_model_loads_from_local_files_with_the_network_blocked(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def no_network(*args: object, **kwargs: object) -> None:
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    folder = embeddings.model_dir()
    assert folder is not None and (folder / "model.safetensors").is_file()
    model = embeddings.load_encoder("en")
    v = model.encode(["My refund has not arrived", "I never got my money back", "The printer is offline", ""])
    assert v.shape == (4, 384) and np.allclose(np.linalg.norm(v[:3], axis=1), 1.0, atol=1e-4)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.2
    items = [GroupInput(subject=s, organization="shop") for s in ("Refund not received", "Still waiting on my refund")]
    items.append(GroupInput(subject="Printer offline", organization="shop"))
    labels = problems(items, engine=EmbeddingEngine(model)).problem
    assert labels[0] == labels[1] != labels[2]


def test_tickets_embed_stores_every_closed_english_ticket_once(cli, db_url, session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    t = make_ticket(session, "T-1", customer="Acme", subject="Refund is late", category="billing")
    make_ticket(session, "T-2", customer="Beta", subject="Where did my money go", category="payments")
    make_ticket(session, "T-3", customer="Gamma", subject="退款一直没到账", category="billing")
    make_ticket(session, "T-4", customer="Delta", subject="Printer offline", status="open")
    encoder = Concepts()
    real_loader = embeddings.load_encoder
    monkeypatch.setattr(embeddings, "load_encoder", lambda lang="en": encoder)
    first = cli("tickets", "embed", "--db", db_url, "--json")
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout) == {"tickets": 3, "english": 2, "embedded": 2}  # the open and the CJK one not
    again = json.loads(cli("tickets", "embed", "--db", db_url, "--json").stdout)
    assert again["embedded"] == 0
    # the panel now reads every vector it needs from the database: nothing reaches the model
    encoder.seen.clear()
    found = similar_tickets(session=session, ticket=t, engine=EmbeddingEngine(encoder, DbVectorStore(session)))
    assert found[0].ticket.external_id == "T-2" and encoder.seen == []
    text = cli("tickets", "embed", "--db", db_url, "--lang", "zh-CN", "-q")
    assert text.exit_code == 0 and "2" in text.stdout and "张" in text.stdout
    monkeypatch.setattr(embeddings, "load_encoder", real_loader)
    monkeypatch.setattr(embeddings, "model_dir", lambda: None)
    missing = cli("tickets", "embed", "--db", db_url)
    assert missing.exit_code != 0 and missing.stderr.startswith("Error:") and "[embeddings]" in missing.stderr


def test_the_ticket_report_lists_similar_tickets_by_the_engine_asked_for(cli, db_url, session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    make_ticket(session, "T-1", customer="Acme", subject="Refund is late", category="billing")
    make_ticket(session, "T-2", customer="Beta", subject="Where did my money go", category="payments")
    monkeypatch.setattr(embeddings, "load_encoder", lambda lang="en": Concepts())
    refs = {}
    for engine in ("tfidf", "embeddings"):
        result = cli("report", "ticket", "T-1", "--db", db_url, "--format", "json", "--similarity", engine)
        assert result.exit_code == 0, result.stderr
        refs[engine] = [row["ref"] for row in json.loads(result.stdout)["similar"]]
    assert refs == {"tfidf": [], "embeddings": ["csv:T-2"]}
