/** Links that open a network's own "share this" screen with the page and its words filled in. Pure. */

export interface ShareLink {
  network: "x" | "facebook" | "linkedin" | "reddit" | "whatsapp" | "telegram" | "bluesky" | "email";
  label: string;
  href: string;
}

/** One link per network, every value URL-encoded (the page escapes them again for HTML). */
export function shareLinks(url: string, title: string, text: string): ShareLink[] {
  const u = encodeURIComponent(url);
  const t = encodeURIComponent(text);
  const withUrl = encodeURIComponent(`${text} ${url}`);
  return [
    { network: "x", label: "X", href: `https://x.com/intent/post?text=${t}&url=${u}` },
    { network: "facebook", label: "Facebook", href: `https://www.facebook.com/sharer/sharer.php?u=${u}` },
    {
      network: "linkedin",
      label: "LinkedIn",
      href: `https://www.linkedin.com/sharing/share-offsite/?url=${u}`,
    },
    {
      network: "reddit",
      label: "Reddit",
      href: `https://www.reddit.com/submit?url=${u}&title=${encodeURIComponent(title)}`,
    },
    { network: "whatsapp", label: "WhatsApp", href: `https://wa.me/?text=${withUrl}` },
    { network: "telegram", label: "Telegram", href: `https://t.me/share/url?url=${u}&text=${t}` },
    { network: "bluesky", label: "Bluesky", href: `https://bsky.app/intent/compose?text=${withUrl}` },
    {
      network: "email",
      label: "Email",
      href: `mailto:?subject=${encodeURIComponent(title)}&body=${withUrl}`,
    },
  ];
}
