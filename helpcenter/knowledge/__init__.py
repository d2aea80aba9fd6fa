"""Knowledge: the content model (entries, rules, flows, vocabulary) and its YAML loading and validation.
May import: nothing else in helpcenter (it is the first layer)."""
