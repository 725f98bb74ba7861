"""The noisy variants name the slips they make (evals/calibration.py --wrong says which made a wrong field)."""

from jixiao.noise import noisy

TEXT = "\n".join(f"| 项目{i} | 指标{i} | {i}0.00 | {i}5 |" for i in range(1, 30))


def test_each_slip_is_named_with_the_lines_it_changed():
    kinds = set()
    for seed in range(40):
        slips = []
        out = noisy(TEXT, seed, corruptions=1, slips=slips)
        assert out == noisy(TEXT, seed, corruptions=1)  # asking for the slips does not change the text
        assert len(slips) == 1
        slip = slips[0]
        kinds.add(slip.kind)
        # The text is the original with the slip's lines replaced by what they became.
        lines = TEXT.split("\n")
        at = next(i for i in range(len(lines)) if tuple(lines[i:i + len(slip.before)]) == slip.before)
        assert "\n".join(lines[:at] + list(slip.after) + lines[at + len(slip.before):]) == out
    assert kinds == {"digit", "drop_line", "garble", "join", "lose_separator"}
