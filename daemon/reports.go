package daemon

import (
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/mesh"
)

// reportRetry is how long the node waits before trying again to store
// non-delivery reports the inbox refused (a full disk, say).
const reportRetry = time.Minute

// reports keeps track of the non-delivery reports of sent mail that
// expired undelivered (smtp.non_delivery_reports). The inbox stores each
// report once (gateway.ReportID), so the outbox is simply read again at
// every start and whenever the node counts another expiry: a report lost
// to a crash between the expiry and its storing is stored at the next
// start.
type reports struct {
	counted uint64                   // the node's OwnExpired when the outbox was last read
	done    map[envelope.ID]struct{} // expired mails whose report is stored
	retryAt time.Time                // when to try a refused report again; zero if none waits
}

// reportExpired stores the reports that are due: at start (force), when the
// node has counted an expiry since the outbox was last read, and when a
// refused report's retry comes. Only the background goroutine calls it.
func (d *Daemon) reportExpired(force bool, now time.Time) {
	if !d.cfg.SMTP.NonDeliveryReports {
		return
	}
	r := &d.reports
	counted := d.node.Stats().OwnExpired
	retry := !r.retryAt.IsZero() && !now.Before(r.retryAt)
	if !force && !retry && counted == r.counted {
		return
	}
	r.counted, r.retryAt = counted, time.Time{}
	done := make(map[envelope.ID]struct{}, len(r.done))
	stored, failed := 0, 0
	var firstErr error
	for _, o := range d.node.Outbox() {
		if o.Status != mesh.StatusExpired {
			continue
		}
		if _, ok := r.done[o.ID]; ok {
			done[o.ID] = struct{}{}
			continue
		}
		// The inbox remembers the report (a record of some 100 bytes once
		// the user deleted it) past any retention the outbox may be given
		// later, so a report the user deleted never returns.
		keep := time.Unix(o.Expiry, 0).Add(mesh.MaxOutboxRetention + 24*time.Hour)
		added, err := d.mb.ReportExpired(o, keep, now)
		if err != nil {
			failed++
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		done[o.ID] = struct{}{}
		if added {
			stored++
		}
	}
	r.done = done
	if stored > 0 {
		d.log.Info("non-delivery reports of expired mail put in the inbox", "reports", stored)
	}
	if failed > 0 {
		r.retryAt = now.Add(reportRetry)
		d.log.Warn("non-delivery reports not stored; trying again later", "reports", failed,
			"retry_in", reportRetry, "err", firstErr)
	}
}
