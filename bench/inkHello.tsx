/**
 * The smallest Ink app that stays on screen: the RSS floor bench/top.ts holds virtdeck against
 * (the same Node, React and Ink, bundled the same way).
 */
// biome-ignore lint/style/noRestrictedImports: the floor is bare Ink; its text is a fixed string
import { render, Text } from 'ink';
import { useEffect, useState } from 'react';

function Hello() {
  const [n, setN] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setN((x) => x + 1), 2_000);
    return () => clearInterval(t);
  }, []);
  return <Text>Hello, world ({n})</Text>;
}

render(<Hello />);
