"""Frame and call-path arithmetic of stack_frames.py on a hand-written thumb listing."""

import stack_frames as sf

LISTING = """
08000100 <leaf>:
 8000100:	push	{r4, r5, r7, lr}
 8000102:	sub	sp, #16
 8000104:	pop	{r4, r5, r7, pc}

08000200 <middle>:
 8000200:	push.w	{r4, r5, r6, r7, r8, lr}
 8000204:	sub.w	sp, sp, #1024	@ 0x400
 8000208:	bl	8000100 <leaf>
 800020c:	blx	r3
 800020e:	bl	8000200 <middle>

08000300 <root>:
 8000300:	stmdb	sp!, {r4-r11, lr}
 8000304:	vpush	{d8-d9}
 8000308:	bl	8000200 <middle>
 800030c:	bl	8000100 <leaf>
 8000310:	b.w	8000100 <leaf>
 8000314:	b	8000318 <root+0x18>

08000400 <alloca>:
 8000400:	push	{r7, lr}
 8000402:	sub	sp, sp, r0
"""


def funcs():
    return sf.parse(LISTING)


def test_frames_add_pushes_vpush_and_sub_sp():
    f = funcs()
    assert f["leaf"].frame == 4 * 4 + 16
    assert f["middle"].frame == 6 * 4 + 1024
    assert f["root"].frame == 9 * 4 + 2 * 8


def test_direct_calls_are_followed_and_local_branches_are_not():
    f = funcs()
    assert f["root"].callees == {"middle", "leaf"}
    assert f["middle"].indirect
    assert not f["leaf"].indirect


def test_deepest_path_sums_frames_and_cuts_recursion():
    total, path, lower, cycles = sf.deepest(funcs(), "root")
    assert path == ["root", "middle", "leaf"]
    assert total == (9 * 4 + 16) + (6 * 4 + 1024) + (4 * 4 + 16)
    assert lower  # middle calls through a register
    assert cycles == {"middle"}


def test_leaf_path_is_exact():
    total, path, lower, _ = sf.deepest(funcs(), "leaf")
    assert (total, path, lower) == (32, ["leaf"], False)


def test_dynamic_adjustment_is_flagged():
    f = funcs()
    assert f["alloca"].dynamic and f["alloca"].frame == 8


def test_register_lists():
    assert sf.reg_count("{r4-r11, lr}") == 9
    assert sf.reg_count("{d8-d15}") == 8
    assert sf.reg_count("{lr}") == 1
    assert sf.reg_count("") == 0


INDIRECT = LISTING + """
08000500 <<Big as Object>::read>:
 8000500:	push	{r4, lr}
 8000502:	sub	sp, #2000
"""


def test_indirect_calls_reach_the_named_functions():
    f = sf.parse(INDIRECT)
    total, path, lower, _ = sf.deepest(f, "root", ["as Object>::"])
    assert path == ["root", "middle", "<Big as Object>::read"]
    assert total == (9 * 4 + 16) + (6 * 4 + 1024) + (2 * 4 + 2000)
    assert not lower
