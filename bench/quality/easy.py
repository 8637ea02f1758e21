"""The easy task set: 40 small Python functions within a 270M base model's reach. Each has a
signature and a docstring with examples (the given tests, as the model sees them) and a fuller
hidden test (``check(candidate)``, as in HumanEval) that decides whether the problem passed."""

TASKS: list[dict[str, str]] = []


def _task(name: str, signature: str, doc: str, examples: list[tuple[str, str]], hidden: list[str]) -> None:
    ex = "".join(f"    >>> {call}\n    {want}\n" for call, want in examples)
    prompt = f"def {name}{signature}:\n    \"\"\"{doc}\n{ex}    \"\"\"\n"
    test = "def check(candidate):\n" + "".join(f"    assert {h}\n" for h in hidden)
    TASKS.append({"task_id": f"Easy/{len(TASKS)}", "entry_point": name, "prompt": prompt, "test": test})


_task("add", "(a: int, b: int) -> int", "Return the sum of a and b.", [("add(2, 3)", "5"), ("add(-1, 1)", "0")],
      ["candidate(2, 3) == 5", "candidate(0, 0) == 0", "candidate(-4, -6) == -10", "candidate(100, 1) == 101"])
_task("is_even", "(n: int) -> bool", "Return True if n is even.", [("is_even(4)", "True"), ("is_even(7)", "False")],
      ["candidate(4) is True", "candidate(7) is False", "candidate(0) is True", "candidate(-3) is False"])
_task("reverse_string", "(s: str) -> str", "Return s reversed.", [("reverse_string('abc')", "'cba'"),
      ("reverse_string('')", "''")], ["candidate('abc') == 'cba'", "candidate('') == ''", "candidate('a b') == 'b a'"])
_task("maximum", "(xs: list) -> int", "Return the largest number in a non-empty list.",
      [("maximum([1, 5, 3])", "5"), ("maximum([-2, -9])", "-2")],
      ["candidate([1, 5, 3]) == 5", "candidate([-2, -9]) == -2", "candidate([7]) == 7"])
_task("factorial", "(n: int) -> int", "Return n! for n >= 0.", [("factorial(5)", "120"), ("factorial(0)", "1")],
      ["candidate(5) == 120", "candidate(0) == 1", "candidate(1) == 1", "candidate(10) == 3628800"])
_task("count_vowels", "(s: str) -> int", "Return how many vowels (a, e, i, o, u, any case) s has.",
      [("count_vowels('hello')", "2"), ("count_vowels('xyz')", "0")],
      ["candidate('hello') == 2", "candidate('xyz') == 0", "candidate('AEIOU') == 5", "candidate('') == 0"])
_task("square", "(x: int) -> int", "Return x squared.", [("square(3)", "9"), ("square(-4)", "16")],
      ["candidate(3) == 9", "candidate(-4) == 16", "candidate(0) == 0"])
_task("first", "(xs: list)", "Return the first element of a non-empty list.", [("first([4, 5])", "4"),
      ("first(['a'])", "'a'")], ["candidate([4, 5]) == 4", "candidate(['a']) == 'a'", "candidate([[1], 2]) == [1]"])
_task("last", "(xs: list)", "Return the last element of a non-empty list.", [("last([4, 5])", "5"),
      ("last(['a'])", "'a'")], ["candidate([4, 5]) == 5", "candidate(['a']) == 'a'", "candidate([1, 2, 3]) == 3"])
_task("is_odd", "(n: int) -> bool", "Return True if n is odd.", [("is_odd(3)", "True"), ("is_odd(8)", "False")],
      ["candidate(3) is True", "candidate(8) is False", "candidate(-5) is True", "candidate(0) is False"])
_task("absolute", "(x: int) -> int", "Return the absolute value of x.", [("absolute(-3)", "3"), ("absolute(4)", "4")],
      ["candidate(-3) == 3", "candidate(4) == 4", "candidate(0) == 0"])
_task("minimum", "(xs: list) -> int", "Return the smallest number in a non-empty list.",
      [("minimum([4, 1, 3])", "1"), ("minimum([-2, 9])", "-2")],
      ["candidate([4, 1, 3]) == 1", "candidate([-2, 9]) == -2", "candidate([5]) == 5"])
_task("sum_list", "(xs: list) -> int", "Return the sum of the numbers in xs.", [("sum_list([1, 2, 3])", "6"),
      ("sum_list([])", "0")], ["candidate([1, 2, 3]) == 6", "candidate([]) == 0", "candidate([-1, 1]) == 0"])
_task("average", "(xs: list) -> float", "Return the mean of a non-empty list of numbers.",
      [("average([1, 2, 3])", "2.0"), ("average([5])", "5.0")],
      ["candidate([1, 2, 3]) == 2.0", "candidate([5]) == 5.0", "candidate([1, 2]) == 1.5"])
_task("is_palindrome", "(s: str) -> bool", "Return True if s reads the same forwards and backwards.",
      [("is_palindrome('level')", "True"), ("is_palindrome('abc')", "False")],
      ["candidate('level') is True", "candidate('abc') is False", "candidate('') is True", "candidate('ab') is False"])
_task("to_upper", "(s: str) -> str", "Return s in upper case.", [("to_upper('abc')", "'ABC'"),
      ("to_upper('Hi!')", "'HI!'")], ["candidate('abc') == 'ABC'", "candidate('Hi!') == 'HI!'", "candidate('') == ''"])
_task("count_words", "(s: str) -> int", "Return how many words (separated by white space) s has.",
      [("count_words('a b c')", "3"), ("count_words('')", "0")],
      ["candidate('a b c') == 3", "candidate('') == 0", "candidate('  hello   world ') == 2"])
_task("fibonacci", "(n: int) -> int", "Return the n-th Fibonacci number, fibonacci(0) == 0, fibonacci(1) == 1.",
      [("fibonacci(6)", "8"), ("fibonacci(1)", "1")],
      ["candidate(0) == 0", "candidate(1) == 1", "candidate(6) == 8", "candidate(10) == 55"])
_task("is_prime", "(n: int) -> bool", "Return True if n is a prime number.", [("is_prime(7)", "True"),
      ("is_prime(8)", "False")], ["candidate(7) is True", "candidate(8) is False", "candidate(2) is True",
      "candidate(1) is False", "candidate(97) is True"])
_task("gcd", "(a: int, b: int) -> int", "Return the greatest common divisor of two positive integers.",
      [("gcd(12, 18)", "6"), ("gcd(7, 5)", "1")], ["candidate(12, 18) == 6", "candidate(7, 5) == 1",
      "candidate(10, 10) == 10"])
_task("celsius_to_fahrenheit", "(c: float) -> float", "Convert degrees Celsius to Fahrenheit.",
      [("celsius_to_fahrenheit(0)", "32.0"), ("celsius_to_fahrenheit(100)", "212.0")],
      ["candidate(0) == 32.0", "candidate(100) == 212.0", "candidate(-40) == -40.0"])
_task("double_list", "(xs: list) -> list", "Return a list with every number of xs doubled.",
      [("double_list([1, 2])", "[2, 4]"), ("double_list([])", "[]")],
      ["candidate([1, 2]) == [2, 4]", "candidate([]) == []", "candidate([-3]) == [-6]"])
_task("filter_even", "(xs: list) -> list", "Return the even numbers of xs, in order.",
      [("filter_even([1, 2, 3, 4])", "[2, 4]"), ("filter_even([1, 3])", "[]")],
      ["candidate([1, 2, 3, 4]) == [2, 4]", "candidate([1, 3]) == []", "candidate([0, -2]) == [0, -2]"])
_task("string_length", "(s: str) -> int", "Return the number of characters in s.",
      [("string_length('abc')", "3"), ("string_length('')", "0")],
      ["candidate('abc') == 3", "candidate('') == 0", "candidate('a b') == 3"])
_task("repeat_string", "(s: str, n: int) -> str", "Return s repeated n times.",
      [("repeat_string('ab', 3)", "'ababab'"), ("repeat_string('x', 0)", "''")],
      ["candidate('ab', 3) == 'ababab'", "candidate('x', 0) == ''", "candidate('', 5) == ''"])
_task("contains", "(xs: list, x) -> bool", "Return True if x is in xs.", [("contains([1, 2], 2)", "True"),
      ("contains([], 1)", "False")], ["candidate([1, 2], 2) is True", "candidate([], 1) is False",
      "candidate(['a'], 'b') is False"])
_task("index_of", "(xs: list, x) -> int", "Return the index of the first x in xs, or -1 if absent.",
      [("index_of([5, 6, 7], 6)", "1"), ("index_of([5], 9)", "-1")],
      ["candidate([5, 6, 7], 6) == 1", "candidate([5], 9) == -1", "candidate([1, 1], 1) == 0"])
_task("remove_spaces", "(s: str) -> str", "Return s without any space characters.",
      [("remove_spaces('a b c')", "'abc'"), ("remove_spaces('x')", "'x'")],
      ["candidate('a b c') == 'abc'", "candidate('x') == 'x'", "candidate('  ') == ''"])
_task("capitalize_first", "(s: str) -> str", "Return s with its first character in upper case.",
      [("capitalize_first('hello')", "'Hello'"), ("capitalize_first('')", "''")],
      ["candidate('hello') == 'Hello'", "candidate('') == ''", "candidate('a b') == 'A b'"])
_task("max_of_three", "(a: int, b: int, c: int) -> int", "Return the largest of a, b and c.",
      [("max_of_three(1, 5, 3)", "5"), ("max_of_three(-1, -2, -3)", "-1")],
      ["candidate(1, 5, 3) == 5", "candidate(-1, -2, -3) == -1", "candidate(2, 2, 2) == 2", "candidate(1, 2, 9) == 9"])
_task("is_positive", "(x: int) -> bool", "Return True if x is greater than zero.",
      [("is_positive(3)", "True"), ("is_positive(-1)", "False")],
      ["candidate(3) is True", "candidate(-1) is False", "candidate(0) is False"])
_task("sign", "(x: int) -> int", "Return 1 if x > 0, -1 if x < 0, and 0 if x is 0.", [("sign(5)", "1"),
      ("sign(-2)", "-1")], ["candidate(5) == 1", "candidate(-2) == -1", "candidate(0) == 0"])
_task("cube", "(x: int) -> int", "Return x cubed.", [("cube(2)", "8"), ("cube(-3)", "-27")],
      ["candidate(2) == 8", "candidate(-3) == -27", "candidate(0) == 0"])
_task("halve", "(x: float) -> float", "Return half of x.", [("halve(4)", "2.0"), ("halve(3)", "1.5")],
      ["candidate(4) == 2.0", "candidate(3) == 1.5", "candidate(0) == 0"])
_task("concat", "(a: str, b: str) -> str", "Return a followed by b.", [("concat('ab', 'cd')", "'abcd'"),
      ("concat('', 'x')", "'x'")], ["candidate('ab', 'cd') == 'abcd'", "candidate('', 'x') == 'x'",
      "candidate('', '') == ''"])
_task("join_words", "(words: list) -> str", "Return the words joined by single spaces.",
      [("join_words(['a', 'b'])", "'a b'"), ("join_words([])", "''")],
      ["candidate(['a', 'b']) == 'a b'", "candidate([]) == ''", "candidate(['x']) == 'x'"])
_task("unique_sorted", "(xs: list) -> list", "Return the distinct elements of xs in increasing order.",
      [("unique_sorted([3, 1, 3, 2])", "[1, 2, 3]"), ("unique_sorted([])", "[]")],
      ["candidate([3, 1, 3, 2]) == [1, 2, 3]", "candidate([]) == []", "candidate([5, 5]) == [5]"])
_task("count_char", "(s: str, c: str) -> int", "Return how many times the character c occurs in s.",
      [("count_char('banana', 'a')", "3"), ("count_char('abc', 'z')", "0")],
      ["candidate('banana', 'a') == 3", "candidate('abc', 'z') == 0", "candidate('', 'a') == 0"])
_task("starts_with_a", "(s: str) -> bool", "Return True if s starts with the letter 'a' (lower case).",
      [("starts_with_a('apple')", "True"), ("starts_with_a('pear')", "False")],
      ["candidate('apple') is True", "candidate('pear') is False", "candidate('') is False",
       "candidate('Apple') is False"])
_task("min_max_diff", "(xs: list) -> int", "Return the largest minus the smallest number of a non-empty list.",
      [("min_max_diff([1, 5, 3])", "4"), ("min_max_diff([2])", "0")],
      ["candidate([1, 5, 3]) == 4", "candidate([2]) == 0", "candidate([-1, 1]) == 2"])

assert len(TASKS) == 40, len(TASKS)
