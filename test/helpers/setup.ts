// Ink drops intermediate frames and ignores resize when CI is set (see STYLE.md pitfalls).
delete process.env.CI;
