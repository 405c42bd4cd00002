/** Replaces each `{name}` in a text an admin or a catalogue wrote with that value; an unknown name stays as written. */
export const fillIn = (text: string, values: Readonly<Record<string, string | number>>) =>
  text.replace(/\{(\w+)\}/g, (whole, name: string) => (Object.hasOwn(values, name) ? String(values[name]) : whole));
