"""Reports from run folders only.

    python -m lcl_repro.report paper=lcl_table1 scale=smoke       # a paper table, ours beside the paper's
    python -m lcl_repro.report sweep=lcl_appb dataset=emoint      # the best setting of a hyper-parameter sweep

Writes Markdown, CSV, LaTeX and figures under `<output_root>/reports/<name>/<scale>/` (or under
`report_root=`) and prints the Markdown. `output_root=results` reads the committed run records and
rewrites the committed report; `tests/test_results.py` checks the two never drift apart. Training
happens elsewhere (`python -m lcl_repro.report.sweep`, or the Make targets).
"""
from __future__ import annotations

import sys
from pathlib import Path

from lcl_repro.compose import entry_point
from lcl_repro.errors import UserError
from lcl_repro.report.cli_args import ReportArgs, parse_args


def paper_report(args: ReportArgs) -> str:
    from lcl_repro.report import aggregate, figures, render
    from lcl_repro.report.collect import collect, encoder_used
    from lcl_repro.report.tables import encoder_for, load_table, seeds_for

    table = load_table(args.paper, args.protocol)
    search_section = ""
    if table.search is not None:  # the table's runs are those of the settings its search chose (docs/protocols.md#searches)
        from lcl_repro.compose import compose
        from lcl_repro.report.hparams import search_choices, search_markdown
        from lcl_repro.report.tables import with_choices

        choices, scores = search_choices(table, args.scale, Path(args.output_root), list(args.extra), compose)
        search_section = search_markdown(table, scores, choices)
        table = with_choices(table, choices)
    encoder, seeds = encoder_for(table, args.scale), seeds_for(table, args.scale)
    collected = collect(table, args.scale, Path(args.output_root), Path(args.data_dir), args.extra)
    encoder = encoder_used(collected, encoder)
    checks = aggregate.learning_checks(collected)
    cell_rows = aggregate.cell_rows(table, collected, checks)
    comparison_rows = aggregate.comparison_rows(table, collected, checks)
    folder = Path(args.report_root or args.output_root) / "reports" / table.name / args.scale
    subtitle = f"scale={args.scale}, encoder={encoder}" + (" (SMOKE: not a result)" if args.scale == "smoke" else "")
    if args.figures:
        figures.draw_all(table, collected, folder, subtitle, comparison_rows)
    listed = [folder / name for name in figures.planned(table, collected, comparison_rows)]
    markdown = render.write_report(folder, table, args.scale, encoder, seeds, cell_rows, comparison_rows, listed,
                                   extra=args.extra, compute=aggregate.compute(collected),
                                   figures_not_drawn=figures.not_drawn(table, collected))
    if search_section:
        from lcl_repro.track.files import write_text

        markdown += "\n" + search_section
        write_text(folder / "report.md", markdown)
    render.write_csv(folder / "figure_data.csv", figures.figure_data(table, collected, comparison_rows))
    if args.logger == "wandb":
        upload(table.name, args.scale, folder, markdown)
    finished = sum(len(cr.runs) for cr in collected)
    expected = sum(cr.expected for cr in collected if cr.status != "missing data")
    missing = sum(cr.status == "missing data" for cr in collected)
    incomplete = [f"{cr.cell.system}/{cr.cell.column}" for cr in collected if cr.status in ("partial", "not run")]
    summary = (f"\n{finished}/{expected} runs found" + (f"; {missing} cells lack their data (see status)" if missing else "")
               + f"; report written to {folder}/\n")
    if incomplete:
        summary += f"cells without all their runs: {', '.join(incomplete)}\n"
        if args.strict:
            raise IncompleteReport(markdown + summary)
    return markdown + summary


class IncompleteReport(Exception):
    """strict=true and some runnable cell lacks runs: the report is printed, the exit status is 1."""


def upload(name: str, scale: str, folder: Path, markdown: str) -> None:
    """Upload the report as W&B tables when logging is online; a failure only warns."""
    import pandas as pd

    from lcl_repro.track.logger import wandb_mode

    if wandb_mode("auto") != "online":
        print("W&B is not online (no API key): the report was not uploaded", file=sys.stderr)
        return
    try:
        import wandb

        run = wandb.init(project="lcl-repro", group=name, job_type="report", name=f"report-{name}-{scale}")
        for csv in sorted(folder.glob("*.csv")):
            run.log({csv.stem: wandb.Table(dataframe=pd.read_csv(csv))})
        run.log({"report": wandb.Html(f"<pre>{markdown}</pre>")})
        for png in sorted(folder.glob("*.png")):
            run.log({png.stem: wandb.Image(str(png))})
        run.finish()
    except Exception as err:  # network, auth: the files on disk are the record
        print(f"W&B upload failed ({err}); the report is on disk in {folder}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if bool(args.paper) == bool(args.sweep):
        raise UserError("name exactly one of paper=<table> or sweep=<name> (tables: ls conf/paper, sweeps: ls conf/sweep)")
    if args.paper:
        try:
            print(paper_report(args), flush=True)
        except IncompleteReport as err:
            print(err, flush=True)
            return 1
    else:
        from lcl_repro.report.hparams import sweep_report

        print(sweep_report(args), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(entry_point(main)())
