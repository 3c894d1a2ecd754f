"""`flask doorplates import / revoke / move`: what an operator sees, and that the database agrees."""

from sqlalchemy import func, select

from casework import audit, seed
from casework.db import db
from casework.models import Doorplate

HEADER = "code,address,longitude,latitude,unit\n"


def test_import_reports_counts_then_refuses_a_bad_file_naming_lines(app, tmp_path):
    with app.app_context():
        seed.load_world()
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "CLI-1,示范市东湖区命令路1号,120.1,30.2,33010201\n", encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["doorplates", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "新增1" in result.output
    assert "新增0，更新0，未变1" in runner.invoke(args=["doorplates", "import", str(good)]).output

    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER + "CLI-2,示范市东湖区命令路2号,120.1,30.2,33010201\n"
        "CLI-3,示范市东湖区命令路\U0002a6a5号,120.1,30.2,33010201\n"
        "CLI-4,示范市东湖区命令路4号,200,30.2,33010201\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["doorplates", "import", str(bad)])
    assert result.exit_code != 0
    assert "第3行：地址含标签字体没有的字" in result.output and "第4行：经度" in result.output
    assert "未导入任何数据" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Doorplate).where(Doorplate.code.like("CLI-%"))) == 1


def test_revoke_and_move_commands(app):
    with app.app_context():
        seed.load_world()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["doorplates", "revoke", "DH-0001"]).exit_code != 0  # a reason is required
    result = runner.invoke(args=["doorplates", "revoke", "DH-0001", "--reason", "门牌丢失"])
    assert result.exit_code == 0 and "已停用" in result.output
    assert "已停用" in runner.invoke(args=["doorplates", "revoke", "DH-0001", "--reason", "again"]).output
    result = runner.invoke(args=["doorplates", "move", "DH-0003", "--to", "DH-0002", "--reason", "重新编号"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        plate = db.session.scalar(select(Doorplate).where(Doorplate.code == "DH-0003"))
        assert plate.status == "moved" and audit.trail(plate)[-1].action == "doorplate.moved"
        assert audit.verify()[1] is None
