"""Log probabilities as HTML: escaped, tinted by band, cut into pieces under a byte bound."""

from playground.output.logprobs import logprob_pieces, render_logprobs

HOSTILE = '<img src=x onerror=alert(1)>"'


def entry(token, logprob, top=()):
    return {"token": token, "logprob": logprob, "top_logprobs": list(top)}


def test_tokens_and_their_alternatives_are_escaped_and_tinted_by_probability():
    html = render_logprobs(
        [entry(HOSTILE, -0.01, [{"token": HOSTILE, "logprob": -0.01}]), entry(" x", -3.0)]
    )
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;&quot;</span>" in html
    assert 'class="lp lp-4"' in html  # 99 %
    assert 'class="lp lp-0" tabindex="0" data-top="5.0%"' in html  # e^-3, no alternatives
    assert 'data-top="99.0% — &quot;&lt;img src=x onerror=alert(1)&gt;\\&quot;&quot; 99.0%"' in html


def test_pieces_stay_under_the_bound_and_join_to_the_whole():
    content = [entry(f" word{number}", -0.5) for number in range(500)]
    pieces = list(logprob_pieces(content, limit=4096))
    assert len(pieces) > 1
    assert all(len(piece.encode()) <= 4096 for piece in pieces)
    assert "".join(pieces) == render_logprobs(content)
