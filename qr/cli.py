"""`flask doorplates ...`: import the registry, revoke or move a doorplate, print label sheets, fetch wxacodes."""

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from casework import doorplate_import, doorplates
from casework.db import db
from casework.errors import DomainError
from casework.models import Doorplate, DoorplateStatus, System, Unit
from casework.unit_of_work import transaction
from qr import labels, links, sheet, wxacode

doorplates_cli = AppGroup("doorplates", help="The doorplate registry, its QR labels and mini-program codes.")
OPERATOR = System("cli")


@doorplates_cli.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(csv_file: Path):
    """Import doorplates from a CSV (code, address, longitude, latitude, unit): all lines or none."""
    data = csv_file.read_bytes()
    rows, _ = doorplate_import.parse(doorplate_import.decode(data))
    with click.progressbar(length=2 * len(rows), label="校验并导入门牌", file=sys.stderr) as bar:
        try:
            with transaction():  # the command is the import's one transaction: every line or none
                result = doorplate_import.import_csv(
                    data, actor=OPERATOR, progress=bar.update, check=[sheet.import_check()]
                )
        except doorplate_import.ImportRefused as refused:
            click.echo("", err=True)
            for error in refused.errors[: doorplate_import.MAX_ERRORS_SHOWN]:
                click.echo(str(error), err=True)
            raise click.ClickException(refused.message) from None
    click.echo(str(result))


@doorplates_cli.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also list revoked and moved doorplates.")
def list_command(show_all: bool):
    """Print each doorplate's code, address and token (the token goes into `send scan dp:<token>`)."""
    query = select(Doorplate).order_by(Doorplate.code)
    if not show_all:
        query = query.where(Doorplate.status == DoorplateStatus.ACTIVE.value)
    for doorplate in db.session.scalars(query):
        token = doorplates.token_for(doorplate) if doorplate.is_active else "-"
        click.echo(f"{doorplate.code}\t{doorplate.address}\t{token}")


@doorplates_cli.command("revoke")
@click.argument("code")
@click.option("--reason", required=True, help="Why the code is withdrawn (kept in the audit log).")
def revoke_command(code: str, reason: str):
    """Withdraw a doorplate's code: its QR stops leading to a report."""
    _run(lambda: doorplates.revoke(doorplate=doorplates.by_code(code), actor=OPERATOR, reason=reason))
    click.echo(f"门牌 {code} 已停用")


@doorplates_cli.command("move")
@click.argument("code")
@click.option("--to", "to_code", required=True, help="The code of the doorplate that replaces it.")
@click.option("--reason", default="", help="Kept in the audit log.")
def move_command(code: str, to_code: str, reason: str):
    """Retire a doorplate in favour of its successor (renumbered building)."""
    _run(
        lambda: doorplates.move(
            doorplate=doorplates.by_code(code), to=doorplates.by_code(to_code), actor=OPERATOR, reason=reason
        )
    )
    click.echo(f"门牌 {code} 已迁移至 {to_code}")


@doorplates_cli.command("sheet")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--unit", "unit_code", default=None, help="Only the doorplates of this station.")
@click.argument("codes", nargs=-1)
def sheet_command(out: Path, unit_code: str | None, codes: tuple[str, ...]):
    """Print labels of the given doorplates (default: every active one) to an A4 PDF."""
    plates = _run(lambda: _select(codes, unit_code))
    if not plates:
        raise click.ClickException("没有可打印的门牌")
    font = current_app.config.get("LABEL_FONT") or None
    specs = (sheet.LabelSpec(url=links.url_for_doorplate(p), address=p.address, code=p.code) for p in plates)
    with click.progressbar(length=len(plates), label="生成门牌标签", file=sys.stderr) as bar:
        pages = _run(lambda: sheet.write(specs, out, font=font, progress=bar.update))
    click.echo(f"{len(plates)} 张标签，{pages} 页 -> {out}")


@doorplates_cli.command("label")
@click.argument("code")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def label_command(code: str, out: Path):
    """Write one doorplate's label as a 300 dpi PNG."""
    plate = _run(lambda: _select((code,), None))[0]
    image = _run(
        lambda: labels.render(
            links.url_for_doorplate(plate), plate.address, plate.code, font=current_app.config.get("LABEL_FONT") or None
        )
    )
    out.write_bytes(labels.png(image))
    click.echo(str(out))


@doorplates_cli.command("wxacode")
@click.argument("codes", nargs=-1)
def wxacode_command(codes: tuple[str, ...]):
    """Fetch (or find cached) the mini-program code of the given doorplates (default: every active one)."""
    if not wxacode.configured():
        raise click.ClickException("MINIAPP_APPID / MINIAPP_SECRET 未配置")
    plates = _run(lambda: _select(codes, None))
    with click.progressbar(plates, label="获取小程序码", file=sys.stderr) as bar:
        for plate in bar:
            wxacode.fetch(plate)
    for plate in plates:
        click.echo(f"{plate.code}\t{wxacode.cache_path(plate)}")


def _select(codes: tuple[str, ...], unit_code: str | None) -> list[Doorplate]:
    if not codes:
        query = select(Doorplate).where(Doorplate.status == DoorplateStatus.ACTIVE.value).order_by(Doorplate.code)
        if unit_code:
            query = query.join(Unit, Doorplate.unit_id == Unit.id).where(Unit.code == unit_code)
        return list(db.session.scalars(query))
    plates = []
    for code in codes:
        plate = doorplates.by_code(code)
        if not plate.is_active:
            raise DomainError(f"门牌 {code} 已停用，不能打印")
        plates.append(plate)
    return plates


def _run(action):
    """Run one command's work as one transaction; a domain error becomes the command's error message."""
    try:
        with transaction():
            return action()
    except DomainError as error:
        raise click.ClickException(error.message) from None
