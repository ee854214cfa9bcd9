"""``python -m scalelab``: the instructor's commands (see lessons/instructor-guide.md).

    python -m scalelab build --out DIR [--held-out-seed N] [lessons/NN-….ipynb …]
    python -m scalelab grade SUBMISSION.ipynb|FOLDER … --out grades.csv [--rates rates.csv]
                             [--held-out-seed N] [--timeout S] [--total-timeout S]
                             [--memory MB] [--lesson lessonNN] [--jobs N]
                             [--isolation auto|namespace|user|none] [--skip-lab]
    python -m scalelab sync lessons/NN-….ipynb …
    python -m scalelab list [--guide lessons/instructor-guide.md]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scalelab",
                                     description="scalelab's instructor kit.")
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="write DIR/instructor/ and DIR/student/ copies "
                                              "of the lessons (nbgrader-compatible)")
    build.add_argument("--out", required=True, type=Path, help="folder to write into")
    build.add_argument("--held-out-seed", type=int, help="seed of the capstone's held-out "
                       "scenarios (default: a fresh one, printed)")
    build.add_argument("lessons", nargs="*", type=Path,
                       help="lesson notebooks (default: lessons/*.ipynb)")

    grade = commands.add_parser("grade", help="run submissions in a sandbox and write a CSV")
    grade.add_argument("submissions", nargs="+", type=Path, help="notebooks or folders")
    grade.add_argument("--out", required=True, type=Path, help="CSV: one row per student "
                                                               "and exercise")
    grade.add_argument("--held-out-seed", type=int, help="seed of the capstone's held-out "
                       "scenarios: the one build printed")
    grade.add_argument("--rates", type=Path, help="CSV: pass rate per exercise (also printed)")
    grade.add_argument("--timeout", type=float, default=60.0,
                       help="seconds any one cell may run (default 60)")
    grade.add_argument("--total-timeout", type=float, default=600.0,
                       help="seconds a whole submission may run (default 600)")
    grade.add_argument("--memory", type=int, default=4096, help="memory limit, MB (default 4096)")
    grade.add_argument("--lesson", help="lesson of every submission, e.g. lesson02 (default: "
                                        "read from each notebook)")
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    grade.add_argument("--isolation", choices=("auto", "namespace", "user", "none"),
                       default="auto", help="how submissions are isolated (default auto: a "
                                            "read-only sandbox when run as root)")
    grade.add_argument("--run-as", default="nobody", help="user for --isolation user")
    grade.add_argument("--skip-lab", action="store_true",
                       help="skip the cells that start the real lab (no exercise reads them; "
                            "each lesson with them grades in seconds instead of ~a minute)")

    sync = commands.add_parser("sync", help="rewrite lessons' '## Exercises' sections from "
                                            "scalelab/exercises/lessonNN.py")
    sync.add_argument("lessons", nargs="+", type=Path)

    listing = commands.add_parser("list", help="print every exercise, lesson by lesson, as "
                                               "Markdown tables")
    listing.add_argument("--guide", type=Path, help="write the tables into this instructor "
                                                    "guide's 'The exercises' section instead")

    args = parser.parse_args(argv)
    from . import course

    if args.command == "build":
        seed = args.held_out_seed
        if seed is None:
            lessons = args.lessons or sorted(Path("lessons").glob("*.ipynb"))
            seed = course.draw_held_out_seed(lessons)
        for path in course.build(args.out, args.lessons or None, held_out_seed=seed):
            print(path)
        if seed is not None:
            print(f"held-out seed: {seed} (only in the instructor copy; grade with "
                  f"--held-out-seed {seed})")
    elif args.command == "grade":
        limits = course.Limits(cell_timeout=args.timeout, total_timeout=args.total_timeout,
                               memory_mb=args.memory, isolation=args.isolation,
                               run_as=args.run_as, lab_cells=not args.skip_lab)
        course.grade(args.submissions, args.out, args.rates, limits, lesson=args.lesson,
                     jobs=args.jobs, held_out_seed=args.held_out_seed)
        print(f"wrote {args.out}" + (f" and {args.rates}" if args.rates else ""))
    elif args.command == "sync":
        for path in args.lessons:
            print(f"{path}: {'updated' if course.sync(path) else 'already up to date'}")
    elif args.command == "list" and args.guide:
        changed = course.write_guide_table(args.guide)
        print(f"{args.guide}: {'updated' if changed else 'already up to date'}")
    elif args.command == "list":
        print(course.exercise_table())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, FileNotFoundError, PermissionError) as exc:
        print(f"python -m scalelab: {exc}", file=sys.stderr)
        sys.exit(2)
