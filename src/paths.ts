/** Where Shoestring puts its own programs on a server (the agent, the checks, the helpers). */
export const LIB_DIR = '/usr/local/lib/shoestring';
