"""``butterfly config show``: the settings in force and where they come from."""

import typer

from butterfly.cli._common import JsonOption, out, print_json
from butterfly.sanitise import terminal_safe

config_app = typer.Typer(help="Show settings.", no_args_is_help=True)


@config_app.command("show")
def show(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show every setting (database password hidden) and the config file looked for.

    Example: BUTTERFLY_REVIEWER=li butterfly config show
    """
    from butterfly.cli._common import resolve_db
    from butterfly.settings import Settings, default_config_file, get_settings
    from butterfly.sync.config import describe, sync_settings
    from butterfly.urls import redact_url

    settings = get_settings()
    values = {name: getattr(settings, name) for name in Settings.model_fields if name != "sync"}
    sync = describe(
        sync_settings(settings.sync)
    )  # connection settings and whether each secret is set, never the secret
    values["database_url"] = redact_url(resolve_db(ctx, None))
    values["reviewer"] = settings.effective_reviewer()
    config_file = default_config_file()
    if as_json:
        print_json(
            {
                "config_file": str(config_file),
                "config_file_exists": config_file.exists(),
                **{k: None if v is None else str(v) for k, v in values.items()},
                "sync": sync,
            }
        )
        return
    from rich.table import Table

    table = Table(title="butterfly settings", show_header=True)
    table.add_column("setting")
    table.add_column("value")
    table.add_column("environment variable", style="dim")
    for name, value in values.items():
        table.add_row(name, terminal_safe(value if value is not None else "-"), f"BUTTERFLY_{name.upper()}")
    console = out()
    console.print(table)
    sync_table = Table(title="butterfly sync sources", show_header=True)
    sync_table.add_column("setting")
    sync_table.add_column("value")
    sync_table.add_column("environment variable", style="dim")
    for source, fields in sync.items():
        for field_name, value in fields.items():
            variable = "" if field_name == "secret" else f"BUTTERFLY_SYNC__{source.upper()}__{field_name.upper()}"
            sync_table.add_row(f"sync.{source}.{field_name}", terminal_safe(value), variable)
    console.print(sync_table)
    console.print(f"config file: {terminal_safe(config_file)} ({'found' if config_file.exists() else 'not present'})")


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
