"""The ``moot`` command line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from server.settings import PROJECT_ROOT, Settings, SettingsError

app = typer.Typer(help="Moot: open policy-making and micro-participation.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo content.", no_args_is_help=True)
schema_app = typer.Typer(help="The GraphQL schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(schema_app, name="schema")
users_app = typer.Typer(help="Accounts and roles.", no_args_is_help=True)
app.add_typer(users_app, name="users")
notifications_app = typer.Typer(help="Notifications and their email digests.", no_args_is_help=True)
app.add_typer(notifications_app, name="notifications")
results_app = typer.Typer(help="Vote results: verify, close votes due.", no_args_is_help=True)
app.add_typer(results_app, name="results")

log = logging.getLogger("moot")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        typer.secho(f"Configuration error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )


@contextlib.contextmanager
def _database(settings: Settings) -> Iterator[str]:
    """The database URL: DATABASE_URL, or the private cluster, started for as long as needed."""
    if settings.database_url:
        yield settings.database_url
        return
    from server.pg import PostgresNotFound, running_cluster

    try:
        with running_cluster(settings.pg_dir) as cluster:
            yield cluster.url()
    except PostgresNotFound as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None


async def _load_demo(url: str) -> list[str]:
    from server import demo
    from server.web import now

    return await _run_in_transaction(url, lambda s: demo.load(s, now=now()))  # type: ignore[no-any-return]


def _exit_quietly(signum: int, frame: object) -> None:
    raise SystemExit(0)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [env HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [env PORT].")] = None,
    reload: Annotated[bool, typer.Option(help="Restart when code changes (development).")] = False,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1, max=64)] = 1,
    demo: Annotated[bool, typer.Option(help="Load the demo content before serving.")] = False,
) -> None:
    """Migrate the database, optionally load the demo, and serve Moot over HTTP."""
    import uvicorn

    from server import migrate

    settings = _settings()
    _configure_logging(settings)
    with _database(settings) as url:
        migrate.upgrade(url)
        if demo:
            created = asyncio.run(_load_demo(url))
            log.info("demo content: %s", ", ".join(created) or "already loaded")
        # Worker processes build their app from the environment: hand them the resolved URL.
        os.environ["DATABASE_URL"] = url
        bind_host, bind_port = host or settings.host, port or settings.port
        typer.echo(f"Moot is serving on http://{bind_host}:{bind_port}  (Ctrl-C to stop)")
        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the
        # handler it found. Make that handler an orderly exit, so the `with` above still stops
        # the private PostgreSQL instead of the process dying around it.
        signal.signal(signal.SIGTERM, _exit_quietly)
        signal.signal(signal.SIGINT, _exit_quietly)
        uvicorn.run(
            "server.asgi:app",
            factory=True,
            host=bind_host,
            port=bind_port,
            reload=reload,
            reload_dirs=[str(PROJECT_ROOT / "server"), str(PROJECT_ROOT / "web")]
            if reload
            else None,
            workers=None if reload else workers,
            access_log=False,  # our middleware logs one structured line per request
            log_level=settings.log_level.lower(),
            proxy_headers=True,
        )


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from server import migrate

    settings = _settings()
    _configure_logging(settings)
    with _database(settings) as url:
        migrate.upgrade(url, revision)


@db_app.command("downgrade")
def db_downgrade(
    revision: str = typer.Argument(..., help="Target revision, e.g. -1 or base."),
) -> None:
    """Revert migrations down to REVISION."""
    from server import migrate

    settings = _settings()
    _configure_logging(settings)
    with _database(settings) as url:
        migrate.downgrade(url, revision)


@db_app.command("current")
def db_current() -> None:
    """Show the revision the database is at."""
    from server import migrate

    settings = _settings()
    with _database(settings) as url:
        migrate.current(url)


@db_app.command("revision")
def db_revision(message: Annotated[str, typer.Option("-m", help="What the change does.")]) -> None:
    """Write a new migration from the difference between the models and the database."""
    from server import migrate

    settings = _settings()
    with _database(settings) as url:
        migrate.upgrade(url)
        migrate.revision(url, message)


@demo_app.command("load")
def demo_load() -> None:
    """Load the demo content (safe to run again: what exists is kept)."""
    from server import migrate

    settings = _settings()
    _configure_logging(settings)
    with _database(settings) as url:
        migrate.upgrade(url)
        created = asyncio.run(_load_demo(url))
    typer.echo(f"Loaded: {', '.join(created)}" if created else "Demo content is already loaded.")


@demo_app.command("generate")
def demo_generate(
    scale: Annotated[
        float,
        typer.Option(help="1 = ~1,000 ideas, 20,000 comments, 5,000 people, 50,000 votes."),
    ] = 1.0,
    reset: Annotated[
        bool, typer.Option("--reset", help="Remove previously generated rows first.")
    ] = False,
) -> None:
    """Generate realistic volumes for benchmarks, fast (bulk COPY). Safe to run again at the
    same scale; another scale needs --reset, which removes only generated rows."""
    from server import migrate
    from server.bench import generate

    if not 0 < scale <= 1000:
        typer.secho("--scale must be above 0 and at most 1000.", fg="red", err=True)
        raise typer.Exit(2)
    settings = _settings()
    _configure_logging(settings)
    with _database(settings) as url:
        migrate.upgrade(url)
        try:
            result = asyncio.run(generate.generate(url, scale, reset=reset, log=typer.echo))
        except generate.AlreadyGenerated as exc:
            typer.secho(str(exc), fg="red", err=True)
            raise typer.Exit(2) from None
    if result.skipped:
        typer.echo(f"Generated data at scale {scale:g} is already there: nothing to do.")
        return
    width = max(len(t) for t in result.rows)
    for table, count in result.rows.items():
        typer.echo(f"{table:<{width}}  {count:>10,}")
    typer.echo(
        f"{'total':<{width}}  {sum(result.rows.values()):>10,} rows in {result.seconds:.1f} s"
    )


@schema_app.command("print")
def schema_print(
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the GraphQL schema (SDL), as kept in graphql/schema.graphql."""
    from server.api.schema import sdl

    text = sdl()
    if out:
        out.write_text(text)
    else:
        typer.echo(text, nl=False)


async def _run_in_transaction(url: str, work: Any) -> Any:
    from server.db import Database, create_engine

    db = Database(create_engine(url, pool_size=1))
    try:
        async with db.session() as session, session.begin():
            return await work(session)
    finally:
        await db.dispose()


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Email address of the account.")],
    role: Annotated[
        str | None, typer.Option(help="moderator, councillor, organiser or admin.")
    ] = None,
    password: Annotated[
        bool, typer.Option("--password", help="Ask for a password (else: sign in by email link).")
    ] = False,
) -> None:
    """Create a confirmed account (or add a role to an existing one): the first admin, say."""
    from server import migrate
    from server.errors import MootError
    from server.identity import service as identity
    from server.identity.models import Role
    from server.web import now

    try:
        chosen = Role(role) if role else None
    except ValueError:
        typer.secho(
            f"Unknown role {role!r}: use one of {', '.join(r.value for r in Role)}.",
            fg="red",
            err=True,
        )
        raise typer.Exit(2) from None
    secret = (
        typer.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    )
    settings = _settings()
    with _database(settings) as url:
        migrate.upgrade(url)

        async def work(session: Any) -> Any:
            return await identity.create_user(
                session, email=email, role=chosen, password=secret, now=now()
            )

        try:
            account = asyncio.run(_run_in_transaction(url, work))
        except MootError as exc:
            typer.secho(exc.message, fg="red", err=True)
            raise typer.Exit(2) from None
    typer.echo(f"Account {account.id} ({account.email}){' is ' + chosen.value if chosen else ''}.")


@notifications_app.command("digest")
def notifications_digest(
    base_url: Annotated[
        str,
        typer.Option(envvar="MOOT_BASE_URL", help="Public address of the site, for the links."),
    ] = "http://127.0.0.1:8000",
) -> None:
    """Email each account whose daily or weekly digest is due the notifications it has not been
    emailed yet (safe to run again: nothing is sent twice). Run it from cron, e.g. hourly; the
    messages join the outbox, which the running app sends when SMTP_URL is set."""
    from server.notifications import service as notifications
    from server.web import now

    settings = _settings()
    _configure_logging(settings)
    with _database(settings) as url:

        async def work(session: Any) -> Any:
            sent = await notifications.send_digests(session, now=now(), base_url=base_url)
            await session.flush()
            return sent

        sent = asyncio.run(_run_in_transaction(url, work))
    total = sum(d.notifications for d in sent)
    typer.echo(
        f"Digests queued: {len(sent)} ({total} notifications)." if sent else "No digests due."
    )


@app.command("export")
def export(
    out: Annotated[Path, typer.Option(help="Directory to write the package into.")],
    call: Annotated[
        str | None, typer.Option(help="Export only this call (its slug): package call-<slug>.")
    ] = None,
    zip_: Annotated[
        bool, typer.Option("--zip", help="Write one <package>.zip instead of loose files.")
    ] = False,
    base_url: Annotated[
        str | None,
        typer.Option(envvar="MOOT_BASE_URL", help="Public address of the site, for sources."),
    ] = None,
) -> None:
    """Write the open data package (datapackage.json, and every table as CSV and JSON Lines) to
    OUT: the whole platform, or one call with --call. Safe to run from cron: files are replaced
    only once written, and everything is read from one snapshot of the database."""
    from rich.progress import Progress

    from server.identity.keys import Keys
    from server.opendata import package as opendata
    from server.web import now

    settings = _settings()
    _configure_logging(settings)
    key = opendata.anonymisation_key(Keys.load(settings).sign)
    name = f"{opendata.CALL_PREFIX}{call}" if call else opendata.PLATFORM
    with _database(settings) as url, Progress(transient=True) as progress:
        task = progress.add_task(f"Exporting {name}", total=opendata.FILE_COUNT)

        def advance(file: str, info: Any) -> None:
            progress.update(task, advance=1, description=f"{name}: {file}")

        try:
            path = asyncio.run(
                opendata.export(
                    url,
                    name,
                    out,
                    key=key,
                    created=now(),
                    base_url=base_url,
                    zip_=zip_,
                    on_file=advance,
                )
            )
        except LookupError:
            typer.secho(f"There is no call with the slug {call!r}.", fg="red", err=True)
            raise typer.Exit(2) from None
    typer.echo(f"Open data package {name} written to {path}")


@app.command()
def outbox(limit: Annotated[int, typer.Option(help="How many, newest first.")] = 10) -> None:
    """Show the emails Moot has queued (all of them, when SMTP_URL is unset)."""
    from server.identity import mail

    settings = _settings()
    with _database(settings) as url:
        messages = asyncio.run(_run_in_transaction(url, lambda s: mail.recent(s, limit=limit)))
    if not messages:
        typer.echo("The outbox is empty.")
    for message in messages:
        typer.echo(
            f"--- {message.created_at:%Y-%m-%d %H:%M} to {message.to_address}\n"
            f"Subject: {message.subject}\n\n{message.body}"
        )


@results_app.command("verify")
def results_verify(
    url: Annotated[
        str | None,
        typer.Argument(help="A vote's address (e.g. https://…/votes/12): download its files."),
    ] = None,
    ballots: Annotated[
        Path | None, typer.Option("--ballots", help="The exported ballots file (CSV).")
    ] = None,
    ballot_json: Annotated[
        Path | None, typer.Option("--ballot-json", help="The vote's definition.json.")
    ] = None,
    package: Annotated[
        Path | None,
        typer.Option("--package", help="An open-data package folder: recount every vote in it."),
    ] = None,
) -> None:
    """Recount a published vote from its exported ballots and compare the result and the file's
    SHA-256 with what was published: prints OK (exit 0) or every difference (exit 1)."""
    import json

    from server.votes import counting

    if package:
        from server.votes.package_verify import verify_package

        try:
            verdicts = verify_package(package)
        except (OSError, KeyError, ValueError) as exc:
            typer.secho(f"Could not read the package: {exc}", fg="red", err=True)
            raise typer.Exit(2) from None
        for v in verdicts:
            typer.echo(f"{'OK' if v.ok else 'DIFFERENT'}: vote {v.ballot_id} ({v.title})")
            for problem in v.problems:
                typer.echo(f"  - {problem}")
        if not verdicts:
            typer.echo("The package has no published results.")
        raise typer.Exit(0 if all(v.ok for v in verdicts) else 1)
    if url:
        import httpx

        try:
            with httpx.Client(timeout=30, follow_redirects=True) as client:
                spec, text = counting.fetch(url, client)
        except (httpx.HTTPError, ValueError) as exc:
            typer.secho(f"Could not download the vote's files: {exc}", fg="red", err=True)
            raise typer.Exit(2) from None
    elif ballots and ballot_json:
        try:
            text = ballots.read_bytes().decode("utf-8")
            spec = json.loads(ballot_json.read_bytes())
        except (OSError, ValueError) as exc:
            typer.secho(f"Could not read the files: {exc}", fg="red", err=True)
            raise typer.Exit(2) from None
    else:
        typer.secho("Give a vote's address, or --ballots and --ballot-json.", fg="red", err=True)
        raise typer.Exit(2)
    verdict = counting.verify(spec, text)
    if verdict.ok:
        typer.echo(f"OK: the recount matches the published result (SHA-256 {verdict.sha256}).")
        return
    typer.echo("The recount does NOT match what was published:")
    for problem in verdict.problems:
        typer.echo(f"- {problem}")
    raise typer.Exit(1)


@results_app.command("close-due")
def results_close_due() -> None:
    """Close every open vote whose voting phase has ended (safe to run from cron)."""
    from server.votes import results
    from server.web import now

    settings = _settings()
    _configure_logging(settings)
    with _database(settings) as url:
        closed = asyncio.run(
            _run_in_transaction(url, lambda s: results.close_due_ballots(s, now()))
        )
    typer.echo(f"Closed votes: {', '.join(map(str, closed))}." if closed else "No votes due.")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
