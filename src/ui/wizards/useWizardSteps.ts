import { useState } from 'react';

/**
 * The page state every step wizard keeps: which step is shown, which of its fields has focus,
 * the problems listed under it, how far its page is scrolled and the one-line message. Going to a
 * step starts that step afresh, whatever the step before left behind.
 */
export function useWizardSteps<P>() {
  const [stepIndex, setStepIndex] = useState(0);
  const [focus, setFocus] = useState(0);
  const [problems, setProblems] = useState<P[]>([]);
  const [scroll, setScroll] = useState(0);
  const [message, setMessage] = useState('');
  const goTo = (i: number) => {
    setStepIndex(i);
    setFocus(0);
    setProblems([]);
    setScroll(0);
    setMessage('');
  };
  return { stepIndex, goTo, focus, setFocus, problems, setProblems, scroll, setScroll, message, setMessage };
}
