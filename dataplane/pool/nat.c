#include "pool/nat.h"

#include <string.h>

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

uint16_t dp_csum_adjust(uint16_t csum, const uint8_t *old, const uint8_t *new, size_t len)
{
	/* HC' = ~(~HC + ~m + m') summed over the changed 16-bit words */
	uint32_t sum = (uint16_t)~csum;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint16_t)~rd16(old + i) + (uint32_t)rd16(new + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void dp_nat_rewrite(uint8_t *frame, uint16_t l3_off, uint16_t l4_off, uint8_t ip_version, bool dst,
                    const uint8_t *addr, const uint8_t mac[6])
{
	memcpy(frame + (dst ? 0 : 6), mac, 6);
	size_t alen = ip_version == 4 ? 4 : 16;
	uint8_t *ip = frame + l3_off;
	uint8_t *a = ip + (ip_version == 4 ? (dst ? 16 : 12) : (dst ? 24 : 8));
	if (memcmp(a, addr, alen) == 0)
		return;
	uint8_t *tcp_csum = frame + l4_off + 16;
	/* the address is in the TCP pseudo-header, and in the IPv4 header's own sum */
	wr16(tcp_csum, dp_csum_adjust(rd16(tcp_csum), a, addr, alen));
	if (ip_version == 4)
		wr16(ip + 10, dp_csum_adjust(rd16(ip + 10), a, addr, alen));
	memcpy(a, addr, alen);
}
