"""``butterfly tickets embed``: store the sentence-embedding vector of every closed ticket ahead of time (the
optional ``embeddings`` similarity engine)."""

from typing import Annotated

import typer

from butterfly.cli._common import DbOption, JsonOption, LangOption, err, language, print_json, session_for


def embed_command(
    ctx: typer.Context,
    json_: JsonOption = False,
    lang: LangOption = None,
    db: DbOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines on stderr.")] = False,
) -> None:
    """Store a sentence-embedding vector for every closed or resolved English ticket that has none or whose text
    changed (the embeddings similarity engine; needs the butterfly-check\\[embeddings] extra). Afterwards the weekly
    report and the walk's similar tickets read the vectors instead of waiting for the model. CJK tickets are
    skipped: they keep TF-IDF.

    Example: butterfly tickets embed
    """
    from butterfly.labels import command_text
    from butterfly.similarity.choice import make_engine
    from butterfly.similarity.warm import Warmed, embed_closed

    lang_ = language(lang)
    with session_for(ctx, db) as session:
        engine = make_engine("embeddings", session=session, lang=lang_)
        assert engine is not None

        def progress(done: Warmed) -> None:
            if not quiet and not json_:
                err().print(command_text("similarity.embed.progress", lang_, n=done.tickets), highlight=False)

        done = embed_closed(session=session, engine=engine, progress=progress)
    if json_:
        print_json({"tickets": done.tickets, "english": done.english, "embedded": done.embedded})
        return
    typer.echo(
        command_text("similarity.embed.done", lang_, tickets=done.tickets, english=done.english, embedded=done.embedded)
    )
