//! A CMSDK APB UART (the MPS2 boards' UARTs, as QEMU models them) behind
//! `embedded-io`: one byte of buffer each way, no FIFO.
//!
//! QEMU hands the guest a byte of its serial back end only when the UART
//! can take one, so bytes the firmware has not read wait on the host's
//! side, never lost; a byte written goes out at once while the back end
//! takes it (otherwise `TXFULL` stays set until it does). The receive
//! interrupt wakes the firmware from `wfi` when a byte arrives.

use core::convert::Infallible;

use embedded_io::{ErrorType, Read, ReadReady, Write, WriteReady};

use crate::mmio;

/// `STATE`: a byte waits to be sent.
const TXFULL: u32 = 1 << 0;
/// `STATE`: a byte waits to be read.
const RXFULL: u32 = 1 << 1;
/// `CTRL`: transmitter and receiver on, receive interrupt on.
const CTRL_TX_RX_RXINT: u32 = (1 << 0) | (1 << 1) | (1 << 3);
/// `INTCLEAR`: the receive interrupt.
const INT_RX: u32 = 1 << 1;

/// Register offsets.
const DATA: usize = 0x0;
const STATE: usize = 0x4;
const CTRL: usize = 0x8;
const INTCLEAR: usize = 0xC;
const BAUDDIV: usize = 0x10;

/// The UART at `base`.
pub struct Uart {
    base: usize,
}

impl Uart {
    /// UART0 of the MPS2 AN385/AN386 at 0x4000_4000; its receive
    /// interrupt is the NVIC's line 0.
    pub const UART0: usize = 0x4000_4000;

    /// The UART at `base`, switched on with its receive interrupt. Only
    /// [`Self::UART0`] is used; one `Uart` per base.
    pub fn new(base: usize) -> Self {
        let uart = Self { base };
        // Any divisor of at least 16 is valid; QEMU sends at the back
        // end's pace whatever it is.
        mmio::write(base + BAUDDIV, 16);
        mmio::write(base + CTRL, CTRL_TX_RX_RXINT);
        uart
    }

    fn state(&self) -> u32 {
        mmio::read(self.base + STATE)
    }

    /// Clears the receive interrupt: called from the interrupt handler,
    /// which leaves the byte for the main loop.
    pub fn clear_rx_interrupt(base: usize) {
        mmio::write(base + INTCLEAR, INT_RX);
    }
}

impl ErrorType for Uart {
    type Error = Infallible;
}

impl ReadReady for Uart {
    fn read_ready(&mut self) -> Result<bool, Infallible> {
        Ok(self.state() & RXFULL != 0)
    }
}

impl Read for Uart {
    /// Waits for one byte, then takes it (the UART holds no more).
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let Some(first) = buf.first_mut() else {
            return Ok(0);
        };
        while self.state() & RXFULL == 0 {}
        *first = mmio::read(self.base + DATA) as u8;
        Ok(1)
    }
}

impl WriteReady for Uart {
    fn write_ready(&mut self) -> Result<bool, Infallible> {
        Ok(self.state() & TXFULL == 0)
    }
}

impl Write for Uart {
    /// Waits until the UART takes a byte, then gives it the first.
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        let Some(&first) = buf.first() else {
            return Ok(0);
        };
        while self.state() & TXFULL != 0 {}
        mmio::write(self.base + DATA, u32::from(first));
        Ok(1)
    }

    fn flush(&mut self) -> Result<(), Infallible> {
        while self.state() & TXFULL != 0 {}
        Ok(())
    }
}
