"""Answer kinds: each kind of answer (number, shape, choice, parts) in one module that owns
what is stated about it and how it is applied."""
